/* The partition driver's nf_tables layer, driven directly, for the
 * benchmark (bench/partition.sh):
 *
 *   fl-partition-drive bench NETNS NCIDR ROUNDS NFTFILE
 *
 * builds the rules of an egress partition of NCIDR /24 prefixes
 * (10.x.y.0/24), writes the same ruleset as an `nft -f` file to NFTFILE
 * (without the owner flag, which needs a socket that stays open), then
 * ROUNDS times: opens the owner socket inside /run/netns/NETNS, creates
 * the table with its chains and rules in one batch, deletes it, closes.
 * Prints "rules N us_per_round X". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "faults/partition.h"

int
main(int argc, char **argv)
{
	struct pt_spec s;
	struct pt_rule *r = NULL;
	struct fl_err e;
	char nspath[300], tag[] = "faultline bench", *text;
	size_t n = 0;
	long ncidr, rounds;
	uint64_t t0, t1;
	FILE *f;

	if (argc != 6 || strcmp(argv[1], "bench") != 0 ||
	    (ncidr = atol(argv[3])) < 1 || ncidr > 65536 ||
	    (rounds = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: fl-partition-drive bench NETNS NCIDR "
		    "ROUNDS NFTFILE\n");
		return 2;
	}
	snprintf(nspath, sizeof(nspath), "/run/netns/%s", argv[2]);
	memset(&s, 0, sizeof(s));
	s.direction = PT_EGRESS;
	s.loss_bp = 10000;
	for (long i = 0; i < ncidr; i++) {
		struct pt_net x = { .family = AF_INET, .prefix = 24 };

		x.addr[0] = 10;
		x.addr[1] = (unsigned char)(i / 256);
		x.addr[2] = (unsigned char)(i % 256);
		if (pt_spec_add_net(&s.dst, &s.ndst, &x) < 0)
			return 1;
	}
	if (pt_rules(&s, &r, &n, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if ((text = pt_ruleset_text(r, n, 0)) == NULL ||
	    (f = fopen(argv[5], "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0) {
		perror(argv[5]);
		return 1;
	}
	free(text);
	t0 = fl_mono_ms();
	for (long i = 0; i < rounds; i++) {
		struct mnl_socket *nl = pt_nft_open(nspath, NULL, &e);

		if (nl == NULL || pt_nft_apply(nl, tag, r, n, &e) < 0 ||
		    pt_nft_delete(nl, &e) < 0) {
			fprintf(stderr, "round %ld: %s\n", i, e.msg);
			return 1;
		}
		pt_nft_close(nl);
	}
	t1 = fl_mono_ms();
	printf("rules %zu us_per_round %.1f\n", n,
	    (double)(t1 - t0) * 1000.0 / (double)rounds);
	free(r);
	pt_spec_free(&s);
	return 0;
}
