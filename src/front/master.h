/* SPDX-License-Identifier: MIT */
#ifndef VL_MASTER_H
#define VL_MASTER_H
#endif
