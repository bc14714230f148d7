#include <cblas.h>
/* OpenBLAS extension: set its own worker-thread count (Vox parallelises itself and runs BLAS on one thread). */
void openblas_set_num_threads(int num_threads);
/* OpenBLAS extension: the name of the kernel family in use (e.g. "Haswell"). */
char *openblas_get_corename(void);
