/* fuzz_pe.c - libFuzzer harness: the PE/COFF reader (formats/pe*.c), the
 * ReadyToRun reader (formats/pe_r2r.c), `describe` (text and JSON), the
 * scanner with the decoder forced on, the rewrite map (the PE section or
 * the ReadyToRun one) and --helper-rva on a linked image. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rw_pe_ops.probe(data, size))
        return 0;
    fuzz_image(data, size);
    /* --helper-rva: an address taken from the input's last bytes, so the
     * fuzzer can steer it; the back-end must refuse one outside the code */
    if (size >= 8) {
        struct rw_image img;
        struct rw_diag d = {0};
        if (rw_image_open_mem(&img, "fuzz", data, size, NULL, &d) == RW_OK) {
            uint32_t rva;
            memcpy(&rva, data + size - 4, 4);
            if (img.ops->add_helper_rva && img.ops->add_helper_rva(&img, rva, &d) == RW_OK)
                fuzz_scan(&img);
            rw_image_close(&img);
        }
    }
    return 0;
}
