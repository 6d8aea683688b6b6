/* prog.c - a freestanding Mach-O test program spanning several pages
 * (a constant table in __TEXT and data in __DATA), for the signing tests. */
#ifndef TABLE
#define TABLE 30000
#endif
static const unsigned char table[TABLE] = {1, 2, 3, 4, 5};
unsigned char scratch[5000] = {9};

int sum(int n)
{
    int s = 0;
    for (int i = 0; i < n && i < TABLE; i++)
        s += table[i] + scratch[i % sizeof scratch];
    return s;
}

int main(void)
{
    return sum(7);
}
