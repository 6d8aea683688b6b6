/* small.c: a few functions with and without frames (tests/macho_unwind). */
extern int ext(int);
int leaf(int x) { return x * 3 + 1; }
int framed(int x)
{
    int a[16];
    for (int i = 0; i < 16; i++)
        a[i] = ext(x + i);
    return a[x & 15];
}
int saves(int x)
{
    int a = ext(x), b = ext(a), c = ext(b);
    return ext(a + b + c) + a;
}
int stacky(int x)
{
    volatile int a[40];
    a[x & 31] = x;
    return a[3];
}
