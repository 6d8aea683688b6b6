/* fuzz_elf.c - libFuzzer harness: the ELF reader (formats/elf*.c), the
 * scanner with the decoder forced on, and the rewrite-map reader of
 * `inspect` (rewriter/map.c). Inputs that are not ELF are left at once. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rw_elf_ops.probe(data, size))
        return 0;
    fuzz_image(data, size);
    return 0;
}
