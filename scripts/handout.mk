# The students' handout: the tree without solutions/, as a fresh git repository.
# Included from the root Makefile. The book's instructor chapter explains the design.
#
#   make handout                  write it into build/handout
#   make handout HANDOUT=DIR      ... into DIR (replaced only if empty or an earlier handout)
#   make test-handout             write one into build/test-handout/tree and check it

HANDOUT ?= build/handout

.PHONY: handout test-handout

handout: ## Write the students' tree (no solutions/, one commit) into HANDOUT=DIR (default build/handout)
	@bash scripts/handout.sh '$(HANDOUT)'

test-handout: ## Make a handout and check it: no solution in it (history included), skeletons build and grade below full
	bash scripts/test-handout.sh

# In a handout (no solutions/), SOLUTION=1 stops here, before anything is built. The
# builds themselves refuse too (crates/kernel-build/src/lab_tree.rs, the grader).
ifneq ($(SOLUTION),)
ifeq ($(wildcard solutions/.),)
$(error this is a student handout: no solutions (solutions/ is absent): build your own files with make labN)
endif
endif
