/* SPDX-License-Identifier: MIT */
#ifndef VL_SOURCE_P_H
#define VL_SOURCE_P_H
#endif
