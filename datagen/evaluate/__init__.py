"""Does fine-tuning beat prompting on this run's data? `datagen eval RUN_DIR` answers the
validation split's instructions with each candidate (`candidates`), scores the answers
(`scores`), has a judge compare each pair in both orders (`pairwise`) and lays out the
comparison (`table`); `comparison` runs it. Does the run's judge
agree with a person? `datagen judge-check RUN_DIR` (`judge_check`) measures it with the
statistics of `agreement`."""
