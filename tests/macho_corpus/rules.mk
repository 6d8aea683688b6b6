# tests/macho_corpus/: real Mach-O files (docs/macho-corpus.md): pinned npm
# packages fetched by tools/corpus_macho.sh into build/corpus/macho (the
# fsevents fat bundle, esbuild's darwin-arm64 and darwin-x64 executables).
#
#   check-macho-corpus  each file (and each slice of the fat one) scanned,
#                       inspected and rewritten as tests/macho_corpus/expect.txt
#                       says: no crash under ASan/UBSan, no site (none calls
#                       the helper), rewrite a no-op; LIEF parses each. Fails
#                       with a clear message when the files cannot be fetched.

MCT := $(B)/tests/macho_corpus

.PHONY: check-macho-corpus
check-macho-corpus: $(B)/asan/callirw $(B)/callirw $(B)/tools/lief_check
	tests/macho_corpus/check.sh $(B)/asan/callirw $(B)/callirw $(B)/tools/lief_check $(MCT)

CHECK_TARGETS += check-macho-corpus
