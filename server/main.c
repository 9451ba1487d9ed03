/* server/main.c - cofferd entry point (the S3 front end is being built). */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "cofferd: the S3 front end is not built yet\n");
    return 1;
}
