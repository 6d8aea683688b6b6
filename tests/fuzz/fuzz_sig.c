/* fuzz_sig.c - libFuzzer harness: the signature decoder (sig/calli_sig.c),
 * its reasons and texts, the layouts of every ABI (sig/calli_layout.c) and,
 * for a signature that decodes, the stub of every ABI (stubs/) with its
 * unwind tables (Win64 UNWIND_INFO, compact unwind, DWARF CFI).
 *
 * Input: byte 0 holds options (bit 0 suppress-gc, bit 1 endbr64, bit 2
 * bti c), the rest is the signature blob. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calli_layout.h"
#include "calli_sig.h"
#include "cfi_dwarf.h"
#include "fuzz_common.h"
#include "stub.h"

static void one_abi(enum calli_abi abi, const struct calli_sig *sig, int sgc,
                    const struct stub_opts *opts)
{
    struct calli_layout lay;
    FUZZ_CHECK(calli_layout_compute(sig, abi, &lay) == 0, "layout of abi %d", abi);
    FUZZ_CHECK(lay.nparams == sig->nparams, "layout has %u params, sig %u", lay.nparams, sig->nparams);
    struct stub_code code = {0};
    char err[256];
    enum stub_err e = stub_generate(abi, sig, sgc, opts, &code, err, sizeof err);
    if (e == STUB_E_NOMEM)
        return;
    FUZZ_CHECK(e == STUB_OK, "stub for abi %d: %s", abi, err);
    FUZZ_CHECK(code.len > 0 && code.bytes, "empty stub for abi %d", abi);
    FUZZ_CHECK(!code.has_frame || (code.frame_start <= code.prologue_end &&
                              code.prologue_end <= code.epilogue_start &&
                              code.epilogue_start <= code.len),
          "frame offsets %u %u %u of %zu", code.frame_start, code.prologue_end,
          code.epilogue_start, code.len);
    for (size_t i = 0; i < code.nunwind; i++)
        FUZZ_CHECK(code.unwind[i].pc_off <= code.len && (i == 0 || code.unwind[i].pc_off >=
                                                                  code.unwind[i - 1].pc_off),
              "unwind step %zu at %u", i, code.unwind[i].pc_off);
    if (abi == CALLI_ABI_WIN_X64) {
        uint8_t uw[STUB_WIN64_UNWIND_MAX];
        size_t len = 0;
        FUZZ_CHECK(stub_win64_unwind_info(&code, uw, sizeof uw, &len) == STUB_OK,
              "Win64 unwind info");
        FUZZ_CHECK(len >= 4 && len <= sizeof uw && len % 4 == 0, "Win64 unwind info of %zu bytes", len);
    } else {
        uint32_t enc, head;
        (void)stub_compact_unwind(&code, &enc, &head);
        struct cfi_buf b = {0};
        size_t cie, field;
        if (cfi_dwarf_cie(&b, abi, &cie) == CFI_OK) {
            enum cfi_err ce = cfi_dwarf_fde(&b, cie, &code, 0x1000, 0x2000, &field);
            FUZZ_CHECK(ce == CFI_OK || ce == CFI_E_NOMEM, "FDE: %d", ce);
            FUZZ_CHECK(ce != CFI_OK || b.len % 8 == 0, "FDE padding: %zu", b.len);
        }
        free(b.data);
    }
    stub_code_free(&code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t opt = data[0];
    const uint8_t *blob = data + 1;
    size_t len = size - 1;
    /* an exact copy, so that a read past the blob's end is one ASan sees */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, blob, len);
    struct calli_sig sig;
    struct calli_sig_error error;
    enum calli_sig_err e = calli_sig_parse(copy, len, &sig, &error);
    FUZZ_CHECK(e == error.err, "returned %d, error says %d", e, error.err);
    char reason[CALLI_SIG_REASON_MAX];
    size_t rl = calli_sig_reason(&error, reason, sizeof reason);
    FUZZ_CHECK(rl < CALLI_SIG_REASON_MAX && strlen(reason) == rl, "reason of %zu bytes", rl);
    (void)calli_sig_strerror(e);
    if (e != CALLI_SIG_OK) {
        FUZZ_CHECK(e < CALLI_SIG_E_COUNT_, "error code %d", e);
        FUZZ_CHECK(e == CALLI_SIG_E_TRUNCATED ? error.offset == len : error.offset <= len,
              "error offset %u of %zu", error.offset, len);
        free(copy);
        return 0;
    }
    FUZZ_CHECK(sig.nparams <= CALLI_SIG_MAX_PARAMS, "%u params", sig.nparams);
    int sgc = opt & 1;
    char key[CALLI_SIG_TEXT_MAX], text[CALLI_SIG_TEXT_MAX];
    size_t kl = calli_sig_key(&sig, sgc, key, sizeof key);
    size_t tl = calli_sig_format(&sig, sgc, text, sizeof text);
    FUZZ_CHECK(kl > 0 && kl < sizeof key && strlen(key) == kl, "key of %zu bytes", kl);
    FUZZ_CHECK(tl > 0 && tl < sizeof text && strlen(text) == tl, "text of %zu bytes", tl);
    for (size_t i = 0; i < kl; i++)
        FUZZ_CHECK((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
                  key[i] == '_',
              "key %s is not identifier-safe", key);
    struct stub_opts o = {.ibt = (opt >> 1) & 1, .bti = (opt >> 2) & 1};
    one_abi(CALLI_ABI_SYSV_X64, &sig, sgc, &o);
    one_abi(CALLI_ABI_WIN_X64, &sig, sgc, &o);
    one_abi(CALLI_ABI_AAPCS64, &sig, sgc, &o);
    one_abi(CALLI_ABI_APPLE_ARM64, &sig, sgc, &o);
    free(copy);
    return 0;
}
