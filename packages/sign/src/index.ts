// @sigstack/sign: the signing client.
