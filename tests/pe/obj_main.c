/* obj_main.c - the program around tests/pe/sites.S and two copies of
 * tests/pe/obj_dedup.S for tests/pe/obj_check.sh: calls every site and
 * prints the results (42, 42, 42, 0x123456789, 42, 0x123456789). */
#include <stdio.h>

int site_imp(void);
int site_thunk(void);
int dedup_imp_a(void);
long long dedup_call_a(void);
int dedup_imp_b(void);
long long dedup_call_b(void);

int main(void)
{
    printf("%d %d\n", site_imp(), site_thunk());
    printf("%d %llx\n", dedup_imp_a(), (unsigned long long)dedup_call_a());
    printf("%d %llx\n", dedup_imp_b(), (unsigned long long)dedup_call_b());
    return 0;
}
