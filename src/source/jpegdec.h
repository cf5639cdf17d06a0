/* SPDX-License-Identifier: MIT */
#ifndef VL_JPEGDEC_H
#define VL_JPEGDEC_H
#endif
