"""Pages → records: pagination, time windows, progress, list reads, generation-dependent reads, writes."""
