/* SPDX-License-Identifier: MIT */
#ifndef VL_INFO_H
#define VL_INFO_H
#endif
