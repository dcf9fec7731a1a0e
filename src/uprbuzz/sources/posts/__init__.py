"""Post files (posts/*.md): front matter, fields, text, times, the per-file cache."""
