"""Langfuse facts as data: operation catalogue, rate limits, filter columns, timestamp rules.

Imported by the client and by lfnb.local alike, so each fact is written once."""
