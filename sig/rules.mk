# sig/: the signature decoder and ABI layouts (freestanding; linked into the
# runtime libraries and into the CLI).
SIG_SRC := sig/calli_sig.c sig/calli_layout.c
