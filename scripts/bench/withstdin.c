/*
 * withstdin FILE PROGRAM [ARG...]: runs PROGRAM with FILE as its standard
 * input, replacing itself (execv, no fork), so hyperfine can time a helper
 * that reads its payload from stdin without a shell: hyperfine 1.15
 * (Debian 12) has no --input option and gives commands /dev/null.
 *
 * Linked statically so that the extra execve costs as little as possible;
 * run.sh measures what it adds (the hello-world through it and without it)
 * and the report subtracts it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc < 3) {
		fputs("usage: withstdin FILE PROGRAM [ARG...]\n", stderr);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 127;
	}
	if (dup2(fd, 0) < 0) {
		perror("dup2");
		return 127;
	}
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
