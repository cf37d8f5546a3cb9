"""gunicorn's settings for hvcase. gunicorn reads this file from its working directory (the
checkout, or /app in the image) whatever its command line; GUNICORN_CMD_ARGS and the command
line's options come on top."""

# The longest request line gunicorn accepts (its default is 4094 bytes): a valid request can
# be long, as a DELETE whose ``reason`` of 500 characters, percent-encoded, takes up to 6000
# bytes. A longer line is refused by gunicorn itself (a 414), before it reaches the app.
limit_request_line = 8190
