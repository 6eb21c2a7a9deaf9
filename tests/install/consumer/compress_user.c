/* The installed compression toolkit from C: energy and a rank of a tiny
 * K/V projection pair (1 kv head, head_dim 2, value_dim 1, model_dim 3). */
#include <attnc_compress.h>
#include <stdio.h>

int main(void) {
  const float wk[6] = {3, 0, 0, 0, 2, 0}, wv[3] = {0, 0, 1};
  double energy[3];
  if (attnc_svd_kv(wk, wv, 1, 2, 1, 3, 0, NULL, NULL, NULL, energy) != ATTNC_OK) {
    fprintf(stderr, "attnc_svd_kv: %s\n", attnc_compress_last_error());
    return 1;
  }
  /* Singular values 3, 2, 1: energy 9/14, 13/14, 1; 0.9 needs rank 2. */
  const long long r = (long long)attnc_choose_rank(energy, 3, 0.9);
  printf("compress_user: energy %.4f %.4f %.4f, rank %lld\n", energy[0], energy[1], energy[2], r);
  return r == 2 ? 0 : 1;
}
