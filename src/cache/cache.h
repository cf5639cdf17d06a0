/* SPDX-License-Identifier: MIT */
#ifndef VL_CACHE_H
#define VL_CACHE_H
#endif
