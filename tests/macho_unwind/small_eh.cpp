// small_eh.cpp: functions with a cleanup, so with a personality and an LSDA
// (tests/macho_unwind); no throw, no headers.
struct Guard {
    int *p;
    ~Guard();
};
void use(int *);
int with_cleanup(int x)
{
    Guard g{&x};
    use(&x);
    return x;
}
int with_two(int x)
{
    Guard a{&x};
    use(&x);
    Guard b{&x};
    use(&x);
    return x + 1;
}
