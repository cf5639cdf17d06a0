/* SPDX-License-Identifier: MIT */
#ifndef VL_TILES_H
#define VL_TILES_H
#endif
