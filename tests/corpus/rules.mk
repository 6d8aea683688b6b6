# tests/corpus/: real binaries nobody here wrote (docs/corpus.md).
#
#   make corpus    deps, the ASan/UBSan CLI, the npm packages (fetched once
#                  into $(CORPUS_CACHE)), then tools/corpus.sh: every ELF file
#                  under /usr/bin, /usr/lib/x86_64-linux-gnu and
#                  /usr/aarch64-linux-gnu, every PE file of wine, esbuild for
#                  six platforms and fsevents, the ReadyToRun corpus: scan
#                  --json and rewrite --dry-run each; summary printed and
#                  written to $(B)/corpus/report.md; fails on any crash, hang
#                  or site
#                  (CORPUS_ARCHIVES=1: also every member of the ar archives
#                  there; CORPUS_HELPER=memcpy: a stress run, memcpy plays the
#                  helper, sites expected, only crashes and hangs fail)
#   check-corpus   tests/corpus/check.sh: the corpus script itself on a
#                  handful of files (seconds): a clean run passes; a file with
#                  sites, a crash, a sanitizer report, exit 3, a hang and a
#                  malformed refusal (a fake CLI) each make it fail and are
#                  named in the report

CORPUS_CACHE ?= .cache/corpus
CORPUS_TIMEOUT ?= 60
CORPUS_JOBS ?= $(JOBS)
CORPUS_ARCHIVES ?=
CORPUS_HELPER ?=

.PHONY: corpus corpus-run check-corpus
corpus:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(B)/asan/callirw
	@$(MAKE) --no-print-directory corpus-run

corpus-run:
	tools/corpus.sh --scan $(B)/asan/callirw --rewrite $(B)/asan/callirw --out $(B)/corpus \
	  --cache $(CORPUS_CACHE) --r2r $(R2R_CORPUS) --jobs $(CORPUS_JOBS) --timeout $(CORPUS_TIMEOUT) \
	  $(if $(CORPUS_ARCHIVES),--archives) $(if $(CORPUS_HELPER),--helper $(CORPUS_HELPER))

check-corpus: $(B)/asan/callirw $(B)/tests/elf/sites_pic.o
	tests/corpus/check.sh $(B)/asan/callirw $(B)/tests/elf/sites_pic.o $(B)/tests/corpus

CHECK_TARGETS += check-corpus
# sites_pic.o is check-elf's too: built by `make all`, so that the two lanes
# of make check-run never build it at the same time.
ALL_TARGETS += $(B)/tests/elf/sites_pic.o
