/* SPDX-License-Identifier: MIT */
/* placeholder main until front/ lands */
int main(void);
int
main(void)
{
    return 0;
}
