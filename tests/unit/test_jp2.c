/* SPDX-License-Identifier: MIT */
/* placeholder: skipped until the module's tests land */
int main(void);
int
main(void)
{
    return 77;
}
