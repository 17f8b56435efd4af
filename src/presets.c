#include "presets.h"

/* Pieces of the ResNet presets (torchvision's blocks; convolutions before BatchNorm have no
   bias, the ReLU follows the add). Each expands to one block of spec text:
     BASIC(C)             res[ conv(C,3,pad=1,bias=0) batchnorm relu
                               conv(C,3,pad=1,bias=0) batchnorm ] relu
     BASIC_DOWN(C)        the same with stride=2 on the first conv and the projection shortcut
                          | conv(C,1,stride=2,bias=0) batchnorm
     BOTTLENECK(C,C4)     res[ conv(C,1,bias=0) batchnorm relu conv(C,3,pad=1,bias=0) batchnorm
                               relu conv(C4,1,bias=0) batchnorm ] relu        (C4 = 4C)
     BOTTLENECK_PROJ(C,C4,S)  the same with stride=S on the 3x3 conv (v1.5) and the projection
                          shortcut | conv(C4,1,stride=S,bias=0) batchnorm */
#define RESNET_STEM "conv(64,3,pad=1,bias=0) batchnorm relu "
#define RESNET_HEAD "globalavgpool linear(classes)"
#define BASIC(C)                                                                                   \
    "res[ conv(" #C ",3,pad=1,bias=0) batchnorm relu conv(" #C ",3,pad=1,bias=0) batchnorm "       \
    "] relu "
#define BASIC_DOWN(C)                                                                              \
    "res[ conv(" #C ",3,stride=2,pad=1,bias=0) batchnorm relu conv(" #C ",3,pad=1,bias=0) "        \
    "batchnorm | conv(" #C ",1,stride=2,bias=0) batchnorm ] relu "
#define BOTTLENECK(C, C4)                                                                          \
    "res[ conv(" #C ",1,bias=0) batchnorm relu conv(" #C ",3,pad=1,bias=0) batchnorm relu "        \
    "conv(" #C4 ",1,bias=0) batchnorm ] relu "
#define BOTTLENECK_PROJ(C, C4, S)                                                                  \
    "res[ conv(" #C ",1,bias=0) batchnorm relu conv(" #C ",3,stride=" #S ",pad=1,bias=0) "         \
    "batchnorm relu conv(" #C4 ",1,bias=0) batchnorm | conv(" #C4 ",1,stride=" #S ",bias=0) "      \
    "batchnorm ] relu "
#define TIMES_11(X) X X X X X X X X X X X

/* The U-Nets of seed 002 §2 (segmentation: the head gives each pixel's class logits). The report
   does not print the network handed out; this is the classic U-Net (Ronneberger et al.) at the
   small size such exercises use: two 3x3 conv + activation per level, 16/32/64 channels over
   three levels (the input's height and width divisible by 4), max-pooling down, 2x2 stride-2
   transposed convolutions up (halving the channels), each decoder level concatenating the
   encoder's tensor of its size, and a 1x1 convolution head. The variants change what the report
   names: `nearest` upsamples by nearest neighbour (no parameters; the following convolution
   reads the concatenation), `elu` uses ELU for every ReLU. */
#define DOUBLE_CONV(C, ACT) "conv(" #C ",3,pad=1) " ACT " conv(" #C ",3,pad=1) " ACT " "
#define UNET(ACT, UP32, UP16)                                                                      \
    DOUBLE_CONV(16, ACT)                                                                           \
    "@e1 maxpool(2) " DOUBLE_CONV(32, ACT) "@e2 maxpool(2) " DOUBLE_CONV(64, ACT) UP32             \
        " concat(@e2) " DOUBLE_CONV(32, ACT) UP16                                                  \
        " concat(@e1) " DOUBLE_CONV(16, ACT) "conv(classes,1)"
#define TRANSPOSED(C) "convtranspose(" #C ",2,stride=2)"
#define NEAREST "upsample(2,mode=nearest)"

const dpt_preset dpt_presets[] = {
    /* seed 000, Table 2: 238,510 parameters */
    {"mlp300", "linear(300) sigmoid linear(classes)"},
    /* seed 000, Table 3 and appendix A: 2,710 parameters */
    {"cnn2710", "conv(16,3,pad=1) relu maxpool(2) conv(4,3,pad=1) relu maxpool(2) linear(classes)"},
    /* seed 003, Exercise 2 */
    {"cnn8-16-32", "conv(8,3,pad=1) relu maxpool(2) conv(16,3,pad=1) relu maxpool(2) "
                   "conv(32,3,pad=1) relu linear(classes)"},
    /* seed 004, basic design */
    {"cnn50-100",
     "conv(50,5,pad=2) relu maxpool(2) conv(100,5,pad=2) relu maxpool(2) linear(classes)"},

    /* seed 002, §1.1 (Net, §1.1.3): 67,274 parameters on MNIST. On the report's 3x28x28 data
       with 53 classes conv1 reads 3 channels and the head gives 53 (both follow the data):
       92,533 */
    {"cnn002",
     "conv(64,5) elu conv(32,5) elu maxpool(2) conv(32,3) elu maxpool(2) linear(classes)"},
    /* seed 002, §1.2: cnn002 with BatchNorm2d(32, affine=False) after conv2 and conv3, before
       their ELU (none after conv1, as in the report): 67,274 parameters, 130 state floats */
    {"cnn002-bn", "conv(64,5) elu conv(32,5) batchnorm(affine=0) elu maxpool(2) "
                  "conv(32,3) batchnorm(affine=0) elu maxpool(2) linear(classes)"},

    /* seed 003, Exercise 3(a): cnn8-16-32 with layers 2/3 and 5/6 swapped (pool, then ReLU) */
    {"cnn003-poolfirst", "conv(8,3,pad=1) maxpool(2) relu conv(16,3,pad=1) maxpool(2) relu "
                         "conv(32,3,pad=1) relu linear(classes)"},
    /* seed 003, Exercise 3(b): cnn003-poolfirst with tanh for every ReLU */
    {"cnn003-poolfirst-tanh", "conv(8,3,pad=1) maxpool(2) tanh conv(16,3,pad=1) maxpool(2) tanh "
                              "conv(32,3,pad=1) tanh linear(classes)"},

    /* seed 003, Exercise 5: each conv+ReLU pair of cnn8-16-32 becomes a block of two (three)
       such pairs, the residual connection bridging each whole block. A block's first conv
       changes the channel count (1->8, 8->16, 16->32), so an identity cannot bridge it: the
       shortcut is a 1x1 projection without bias (He et al.'s W_s x), 648 parameters that the
       plain versions (otherwise identical) do not have. */
    /* seed 003, Exercise 5, blocks of two pairs with residual connections: 34,378 parameters */
    {"cnn003-res2",
     "res[ conv(8,3,pad=1) relu conv(8,3,pad=1) relu | conv(8,1,bias=0) ] maxpool(2) "
     "res[ conv(16,3,pad=1) relu conv(16,3,pad=1) relu | conv(16,1,bias=0) ] maxpool(2) "
     "res[ conv(32,3,pad=1) relu conv(32,3,pad=1) relu | conv(32,1,bias=0) ] "
     "linear(classes)"},
    /* seed 003, Exercise 5, blocks of three pairs with residual connections: 46,530 parameters */
    {"cnn003-res3", "res[ conv(8,3,pad=1) relu conv(8,3,pad=1) relu conv(8,3,pad=1) relu "
                    "     | conv(8,1,bias=0) ] maxpool(2) "
                    "res[ conv(16,3,pad=1) relu conv(16,3,pad=1) relu conv(16,3,pad=1) relu "
                    "     | conv(16,1,bias=0) ] maxpool(2) "
                    "res[ conv(32,3,pad=1) relu conv(32,3,pad=1) relu conv(32,3,pad=1) relu "
                    "     | conv(32,1,bias=0) ] "
                    "linear(classes)"},
    /* seed 003, Exercise 5, blocks of two pairs without residual connections: 33,730 */
    {"cnn003-plain2", "conv(8,3,pad=1) relu conv(8,3,pad=1) relu maxpool(2) "
                      "conv(16,3,pad=1) relu conv(16,3,pad=1) relu maxpool(2) "
                      "conv(32,3,pad=1) relu conv(32,3,pad=1) relu "
                      "linear(classes)"},
    /* seed 003, Exercise 5, blocks of three pairs without residual connections: 45,882 */
    {"cnn003-plain3",
     "conv(8,3,pad=1) relu conv(8,3,pad=1) relu conv(8,3,pad=1) relu maxpool(2) "
     "conv(16,3,pad=1) relu conv(16,3,pad=1) relu conv(16,3,pad=1) relu maxpool(2) "
     "conv(32,3,pad=1) relu conv(32,3,pad=1) relu conv(32,3,pad=1) relu "
     "linear(classes)"},

    /* The ResNets for 28x28 inputs: torchvision's layout with a 3x3 stride-1 stem and no
       max-pooling (the report does not say how it adapted the 7x7 stride-2 stem). */
    /* seed 004, State of the Art: ResNet (Figure 11): ResNet-18, 11,172,810 parameters */
    {"resnet18", RESNET_STEM                             /* 64 x 28x28 */
                     BASIC(64) BASIC(64) BASIC_DOWN(128) /* 128 x 14x14 */
     BASIC(128) BASIC_DOWN(256)                          /* 256 x 7x7 */
     BASIC(256) BASIC_DOWN(512)                          /* 512 x 4x4 */
     BASIC(512) RESNET_HEAD},
    /* seed 004, State of the Art: ResNet (Figure 11): ResNet-34, 21,280,970 parameters */
    {"resnet34", RESNET_STEM BASIC(64) BASIC(64) BASIC(64) BASIC_DOWN(128) BASIC(128) BASIC(128)
                     BASIC(128) BASIC_DOWN(256) BASIC(256) BASIC(256) BASIC(256) BASIC(256)
                         BASIC(256) BASIC_DOWN(512) BASIC(512) BASIC(512) RESNET_HEAD},
    /* seed 004, State of the Art: ResNet (Figure 11): ResNet-50 (bottleneck v1.5; stage 1
       projects 64 -> 256 at stride 1), 23,519,690 parameters */
    {"resnet50", RESNET_STEM BOTTLENECK_PROJ(64, 256, 1) BOTTLENECK(64, 256) BOTTLENECK(64, 256)
                     BOTTLENECK_PROJ(128, 512, 2) BOTTLENECK(128, 512) BOTTLENECK(128, 512)
                         BOTTLENECK(128, 512) BOTTLENECK_PROJ(256, 1024, 2) BOTTLENECK(256, 1024)
                             BOTTLENECK(256, 1024) BOTTLENECK(256, 1024) BOTTLENECK(256, 1024)
                                 BOTTLENECK(256, 1024) BOTTLENECK_PROJ(512, 2048, 2)
                                     BOTTLENECK(512, 2048) BOTTLENECK(512, 2048) RESNET_HEAD},
    /* seed 004, State of the Art: ResNet (Figure 11): ResNet-101 (stages of 3, 4, 23, 3
       bottlenecks), 42,511,818 parameters (torchvision's ResNet-101 less ResNet-50 is
       18,992,128, as here) */
    {"resnet101",
     RESNET_STEM BOTTLENECK_PROJ(64, 256, 1) BOTTLENECK(64, 256) BOTTLENECK(64, 256)
         BOTTLENECK_PROJ(128, 512, 2) BOTTLENECK(128, 512) BOTTLENECK(128, 512) BOTTLENECK(128, 512)
             BOTTLENECK_PROJ(256, 1024, 2) TIMES_11(BOTTLENECK(256, 1024))
                 TIMES_11(BOTTLENECK(256, 1024)) BOTTLENECK_PROJ(512, 2048, 2) BOTTLENECK(512, 2048)
                     BOTTLENECK(512, 2048) RESNET_HEAD},

    /* seed 002, §2: the U-Net as handed out (as inferred above) and its three variants */
    {"unet", UNET("relu", TRANSPOSED(32), TRANSPOSED(16))},
    {"unet-nearest", UNET("relu", NEAREST, NEAREST)},
    {"unet-elu", UNET("elu", TRANSPOSED(32), TRANSPOSED(16))},
    {"unet-nearest-elu", UNET("elu", NEAREST, NEAREST)},
};

#undef DOUBLE_CONV
#undef UNET
#undef TRANSPOSED
#undef NEAREST
#undef RESNET_STEM
#undef RESNET_HEAD
#undef BASIC
#undef TIMES_11
#undef BASIC_DOWN
#undef BOTTLENECK
#undef BOTTLENECK_PROJ

const size_t dpt_npresets = sizeof dpt_presets / sizeof dpt_presets[0];
