/* What a model learns from a dataset: a class per sample, or a class per pixel. */
#ifndef DPTRAIN_TASK_H
#define DPTRAIN_TASK_H

typedef enum dpt_task { DPT_TASK_CLASSIFY, DPT_TASK_SEGMENT } dpt_task;

#endif
