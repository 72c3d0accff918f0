"""Training data: the corpus store (:mod:`.corpus`), manifest readers (:mod:`.manifests`) and the
SoundFilter mixing dataset with evaluation mixture sets (:mod:`.mixing`)."""
