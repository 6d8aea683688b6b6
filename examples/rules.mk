# examples/: hand-written legacy programs that call real library functions
# through the generic helper.
.PHONY: demo-run
demo-run:
	@echo "demo: not yet"
