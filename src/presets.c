#include "presets.h"

const dpt_preset dpt_presets[] = {
    /* seed 000, Table 2: 238,510 parameters */
    {"mlp300", "linear(300) sigmoid linear(10)"},
    /* seed 000, Table 3 and appendix A: 2,710 parameters */
    {"cnn2710", "conv(16,3,pad=1) relu maxpool(2) conv(4,3,pad=1) relu maxpool(2) linear(10)"},
    /* seed 003, Exercise 2 */
    {"cnn8-16-32", "conv(8,3,pad=1) relu maxpool(2) conv(16,3,pad=1) relu maxpool(2) "
                   "conv(32,3,pad=1) relu linear(10)"},
    /* seed 004, basic design */
    {"cnn50-100", "conv(50,5,pad=2) relu maxpool(2) conv(100,5,pad=2) relu maxpool(2) linear(10)"},
};

const size_t dpt_npresets = sizeof dpt_presets / sizeof dpt_presets[0];
