-- Linear evaluation of a finished run: a linear classifier on the frozen encoder of the
-- run folder's checkpoint, with the run's own dataset and normalisation.
--   --preset small (default): the fast protocol, logistic regression on features extracted
--     once without augmentation (the protocol every recipe runs at its end);
--   --preset imagenet: MoCo's full protocol, augmented crops through the frozen encoder,
--     SGD with lr 30, 100 epochs, steps at 60% and 80%.
--
--   build/sslab recipes/linear_probe.lua --run runs/mocov2-20261129-190335 [--preset imagenet]
--   build/sslab recipes/linear_probe.lua --run my-runs/x --method simclr --probe full --probe_epochs 20
return require('sslab.recipe').probe_main(arg)
