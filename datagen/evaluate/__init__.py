"""Does fine-tuning beat prompting on this run's data? `datagen eval RUN_DIR` answers the
validation split's instructions with each candidate (`candidates`), scores the answers
(`scores`) and lays out the comparison (`table`); `comparison` runs it."""
