"""Home visits: scheduled, completed, missed or cancelled."""
