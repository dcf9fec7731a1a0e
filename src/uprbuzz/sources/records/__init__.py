"""Record files: the recommendations (the project CSV, UHRI JSON/XLSX exports, UPR Info search
answers) and the State's responses. Reading is here (``tables``: rows with where they are;
``project_table``, ``uhri``, ``uprinfo``, ``responses``: the shapes); storing is
``store.records``; ``importing`` joins the two, all or nothing."""
