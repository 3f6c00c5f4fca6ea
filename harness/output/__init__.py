"""What people read: terminal tables, plots, and the self-contained HTML report."""
