/* SPDX-License-Identifier: MIT */
#ifndef VL_FCGI_H
#define VL_FCGI_H
#endif
