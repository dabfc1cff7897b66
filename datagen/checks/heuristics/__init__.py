"""Checks that judge a record by its own text: bad input, lengths, media keywords, prompt
debris, PII, truncation, refusals, chat leaks, garbled text, missing code, placeholders,
echoes and repetition. One module per check; each declares its `CHECK`."""
