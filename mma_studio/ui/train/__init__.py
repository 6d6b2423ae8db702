"""The Train page: settings, live plots, progress and the finished run's summary."""
