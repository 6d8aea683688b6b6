/* dispatch.c - the C half of GenericPInvokeCalliHelper: cookie validation,
 * argument and return marshaling by interpretation of the signature, and the
 * order of effects of spec section 4. Freestanding; one source for every
 * ABI (the ABI is a parameter of the core, fixed per target by
 * calli_rt_dispatch). See docs/runtime.md.
 */
#include "calli_dispatch.h"
#include "calli_host.h"
#include "calli_layout.h"
#include "calli_sig.h"

#ifdef CALLI_SIG_REASON_MAX
#define RT_REASON_MAX (CALLI_SIG_REASON_MAX + 32)
#else
#define RT_REASON_MAX 256
#endif

/* One line on stderr, then abort:
 * "GenericPInvokeCalliHelper: fatal: cookie 0x<16 hex>: <reason>\n". */
__attribute__((noinline, cold)) static _Noreturn void
cookie_fatal(const void *cookie, const char *reason, const char *detail_prefix, uint64_t detail,
             unsigned detail_digits, const char *suffix)
{
    char buf[128 + RT_REASON_MAX];
    struct rt_text t = {buf, 0, sizeof buf};
    buf[0] = 0;
    rt_puts(&t, "GenericPInvokeCalliHelper: fatal: cookie 0x");
    rt_puthex(&t, (uint64_t)(uintptr_t)cookie, 16);
    rt_puts(&t, ": ");
    rt_puts(&t, reason);
    if (detail_prefix) {
        rt_puts(&t, detail_prefix);
        if (detail_digits)
            rt_puthex(&t, detail, detail_digits);
        else
            rt_putu(&t, detail);
    }
    if (suffix)
        rt_puts(&t, suffix);
    rt_putc(&t, '\n');
    if (buf[t.len - 1] != '\n') /* truncated: still one whole line */
        buf[t.len - 1] = '\n';
    calli_host_write(CALLI_HOST_ERR, buf, t.len);
    calli_host_abort();
}

__attribute__((noinline, cold)) static _Noreturn void
sig_fatal(const void *cookie, const struct calli_sig_error *err)
{
    char reason[RT_REASON_MAX];
    reason[0] = 0;
    calli_sig_reason(err, reason, sizeof reason);
    /* A reason is one line by contract; make sure of it. */
    for (char *p = reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (reason[0] == 0)
        cookie_fatal(cookie, "invalid signature", " (error ", (uint64_t)err->err, 0, ")");
    cookie_fatal(cookie, reason, 0, 0, 0, 0);
}

uint64_t calli_rt_arg_to_native(uint8_t type, uint64_t v)
{
    switch (type) {
    case CALLI_T_BOOL: return (v & 0xff) != 0;
    case CALLI_T_CHAR: return v & 0xffff;
    case CALLI_T_I1: return (uint32_t)(int32_t)(int8_t)(uint8_t)v;
    case CALLI_T_U1: return v & 0xff;
    case CALLI_T_I2: return (uint32_t)(int32_t)(int16_t)(uint16_t)v;
    case CALLI_T_U2: return v & 0xffff;
    default: return v; /* I4 U4 I8 U8 I U PTR FNPTR R4 R8 STRING: unchanged */
    }
}

uint64_t calli_rt_ret_to_managed(uint8_t type, uint64_t v)
{
    switch (type) {
    case CALLI_T_BOOL: return (uint32_t)v != 0; /* native BOOL: all 32 bits */
    case CALLI_T_CHAR: return v & 0xffff;
    case CALLI_T_I1: return (uint32_t)(int32_t)(int8_t)(uint8_t)v;
    case CALLI_T_U1: return v & 0xff;
    case CALLI_T_I2: return (uint32_t)(int32_t)(int16_t)(uint16_t)v;
    case CALLI_T_U2: return v & 0xffff;
    default: return v; /* unchanged, all 64 bits as the target left them */
    }
}

/* The value of managed argument i (all 64 bits of its register or slot) and,
 * for an FPR, the upper half of the vector register. */
static uint64_t managed_value(const struct calli_layout *lay, unsigned i,
                              const struct calli_regs *save, const unsigned char *stack,
                              uint64_t *hi)
{
    const struct calli_loc *m = &lay->managed[i];
    *hi = 0;
    switch (m->kind) {
    case CALLI_LOC_GPR:
        return save->gpr[m->reg];
    case CALLI_LOC_FPR:
        *hi = save->fpr[m->reg][1];
        return save->fpr[m->reg][0];
    default: /* stack: the whole 8-byte slot, or the packed value (Apple) */
        return rt_load(stack + m->stack_off,
                       lay->abi == CALLI_ABI_APPLE_ARM64 ? m->size : 8);
    }
}

static void native_store(const struct calli_layout *lay, unsigned i, struct calli_invoke *inv,
                         unsigned char *stack, uint64_t v, uint64_t hi)
{
    const struct calli_loc *n = &lay->native[i];
    switch (n->kind) {
    case CALLI_LOC_GPR:
        inv->regs.gpr[n->reg] = v;
        break;
    case CALLI_LOC_FPR:
        inv->regs.fpr[n->reg][0] = v;
        inv->regs.fpr[n->reg][1] = hi;
        break;
    default:
        rt_store(stack + n->stack_off, v, lay->abi == CALLI_ABI_APPLE_ARM64 ? n->size : 8);
        break;
    }
}

/* Native stack arguments: at most one 8-byte slot per parameter. */
#define RT_NATIVE_STACK_MAX (8 * CALLI_SIG_MAX_PARAMS)

void calli_rt_call(enum calli_abi abi, struct calli_regs *save, const unsigned char *stack_args,
                   void *target, const struct calli_cookie *cookie, calli_rt_invoke_fn invoke)
{
    if (!cookie)
        cookie_fatal(cookie, "null cookie pointer", 0, 0, 0, 0);

    /* The fixed header, read bytewise (alignment is the producer's promise,
     * not something to crash on). */
    const unsigned char *c = (const unsigned char *)cookie;
    uint32_t magic = (uint32_t)rt_load(c + CALLI_COOKIE_OFF_MAGIC, 4);
    if (magic != CALLI_COOKIE_MAGIC)
        cookie_fatal(cookie, "bad magic", " 0x", magic, 8, " (expected 0x494c4143)");
    uint16_t version = (uint16_t)rt_load(c + CALLI_COOKIE_OFF_VERSION, 2);
    if (version != CALLI_COOKIE_VERSION)
        cookie_fatal(cookie, "unsupported version", " ", version, 0, " (expected 1)");
    uint16_t flags = (uint16_t)rt_load(c + CALLI_COOKIE_OFF_FLAGS, 2);
    if (flags & ~CALLI_COOKIE_FLAGS_KNOWN)
        cookie_fatal(cookie, "unknown flag bits", " 0x", flags & ~CALLI_COOKIE_FLAGS_KNOWN, 4, 0);
    const struct calli_runtime *rt =
        (const struct calli_runtime *)(uintptr_t)rt_load(c + CALLI_COOKIE_OFF_RUNTIME, 8);
    uint32_t sig_len = (uint32_t)rt_load(c + CALLI_COOKIE_OFF_SIG_LEN, 4);
    if (sig_len > CALLI_RT_MAX_SIG_LEN)
        cookie_fatal(cookie, "sig_len", " ", sig_len, 0, " exceeds the limit 65536");
    if (rt && rt->abi_version != CALLI_RUNTIME_ABI_VERSION)
        cookie_fatal(cookie, "runtime abi_version", " ", rt->abi_version, 0, " (expected 1)");

    struct calli_sig sig;
    struct calli_sig_error err;
    err.err = CALLI_SIG_OK;
    if (calli_sig_parse(c + CALLI_COOKIE_OFF_SIG, sig_len, &sig, &err) != CALLI_SIG_OK)
        sig_fatal(cookie, &err);

    unsigned nstrings = 0;
    for (unsigned i = 0; i < sig.nparams; i++)
        if (sig.params[i] == CALLI_T_STRING) {
            if (!rt)
                cookie_fatal(cookie, "STRING parameter", " ", i, 0, " with a null runtime");
            nstrings++;
        }

    struct calli_layout lay;
    if (calli_layout_compute(&sig, abi, &lay) != 0 || lay.native_stack_size > RT_NATIVE_STACK_MAX)
        cookie_fatal(cookie, "no argument layout for this signature", 0, 0, 0, 0);

    const int transition = rt && !(flags & CALLI_COOKIE_FLAG_SUPPRESS_GC_TRANSITION);
    void *const ctx = rt ? rt->ctx : 0;

    /* (1) strings, left to right (null ones too). */
    char *native_str[CALLI_SIG_MAX_PARAMS];
    if (nstrings)
        for (unsigned i = 0; i < sig.nparams; i++)
            if (sig.params[i] == CALLI_T_STRING) {
                uint64_t hi;
                uint64_t ms = managed_value(&lay, i, save, stack_args, &hi);
                native_str[i] = rt->string_to_native((const void *)(uintptr_t)ms, ctx);
            }

    /* (2) leave managed code. */
    if (transition)
        rt->enter(ctx);

    /* (3) native arguments, then the call. */
    struct calli_invoke inv;
    _Alignas(16) unsigned char nstack[RT_NATIVE_STACK_MAX];
    for (unsigned r = 0; r < 8; r++) {
        inv.regs.gpr[r] = 0;
        inv.regs.fpr[r][0] = inv.regs.fpr[r][1] = 0;
    }
    for (uint32_t o = 0; o < lay.native_stack_size; o++)
        nstack[o] = 0;
    for (unsigned i = 0; i < sig.nparams; i++) {
        uint8_t t = sig.params[i];
        uint64_t hi;
        uint64_t v = managed_value(&lay, i, save, stack_args, &hi);
        v = t == CALLI_T_STRING ? (uint64_t)(uintptr_t)native_str[i] : calli_rt_arg_to_native(t, v);
        native_store(&lay, i, &inv, nstack, v, hi);
    }
    inv.regs.ret_gpr = inv.regs.ret_pad = 0;
    inv.regs.ret_fpr[0] = inv.regs.ret_fpr[1] = 0;
    inv.stack = nstack;
    inv.stack_size = lay.native_stack_size;
    inv.target = target;
    inv.pad = 0;
    invoke(&inv);

    /* (4) back to managed code. */
    if (transition)
        rt->leave(ctx);

    /* (5) free the strings, left to right. */
    if (nstrings)
        for (unsigned i = 0; i < sig.nparams; i++)
            if (sig.params[i] == CALLI_T_STRING)
                rt->free_native(native_str[i], ctx);

    /* (6) the marshaled return value. */
    save->ret_gpr = sig.ret == CALLI_T_VOID ? inv.regs.ret_gpr
                                            : calli_rt_ret_to_managed(sig.ret, inv.regs.ret_gpr);
    save->ret_pad = 0;
    save->ret_fpr[0] = inv.regs.ret_fpr[0];
    save->ret_fpr[1] = inv.regs.ret_fpr[1];
}

void calli_rt_dispatch(struct calli_regs *save, const unsigned char *stack_args, void *target,
                       const struct calli_cookie *cookie)
{
    calli_rt_call(CALLI_RT_NATIVE_ABI, save, stack_args, target, cookie, calli_rt_invoke);
}
