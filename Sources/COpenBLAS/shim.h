#include <cblas.h>
/* OpenBLAS extension: set its own worker-thread count (Vox parallelises itself and runs BLAS on one thread). */
void openblas_set_num_threads(int num_threads);
