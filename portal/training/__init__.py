"""The IDD training register's screens: a partner admin records their firm's people's training (a member sees
their own), compliance and admins see coverage per firm and per person; the rules are compliance.training."""
