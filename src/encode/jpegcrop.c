/* SPDX-License-Identifier: MIT */
/* placeholder until the module lands */
typedef int vl_placeholder_jpegcrop_t;
