/* lib.c - a small dylib / bundle body for the signing tests. */
static const char text[7000] = "callirw";
int lib_get(int i)
{
    return text[i % (int)sizeof text];
}
