"""Seeing inside a network: worked explanations of one backprop step (001), the diagnostics of
000 §9.3 (vanishing/exploding gradients, saturation, dead ReLUs), monitors that log them
during training, and loss landscapes."""
