/* SPDX-License-Identifier: MIT */
#ifndef VL_JPEGCROP_H
#define VL_JPEGCROP_H
#endif
