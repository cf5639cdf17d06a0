/* SPDX-License-Identifier: MIT */
#ifndef VL_PIXEL_H
#define VL_PIXEL_H
#endif
