# tests/gen/: the call-site generator and the generated-program tests.
